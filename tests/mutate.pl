#!/usr/bin/perl
#
# mutate.pl - mutation testing of pfsd (make mutate).
#
# Breaks pfsd on purpose, one realistic change at a time, and checks that
# the test suite notices.  The changes are listed in tests/mutants (see
# the format there).  Nothing here touches the working tree: the tracked
# and untracked-but-not-ignored files are copied to a temporary directory,
# built and tested there once unchanged (each suite must pass), then
# each mutant is applied to that copy, built, run against its relevant
# suites (CK_RUN_SUITE) and, if they all pass, against each other suite
# of tests/check_main.c's SUITES (a failure there is confirmed by a second
# run: another test run on the machine may have taken a port); then the
# file is restored.
#
#   KILLED     a test failed (or the run timed out)
#   SURVIVED   every test passed: a test is missing
#   STALE      the exact text is not in the file (the code changed:
#              update the list), or is there more than once
#   NOBUILD    the mutant does not compile (not a useful mutant)
#   EQUIVALENT not run: the list says why it cannot change behaviour
#
# The score is KILLED / (KILLED + SURVIVED); exit status 1 when it is
# below --min (default 90) or when nothing was run.
#
#   tests/mutate.pl [--quick] [--no-baseline] [--min N] [--keep]
#                   [--list FILE] [ID...]
#
#   --quick   relevant suites only: no full run for a mutant they miss,
#             and the baseline runs only the relevant suites
#   --no-baseline  the unmodified tree just passed make check (CI)
#   ID...     run only these mutants (all by default)

use strict;
use warnings;
use File::Temp qw(tempdir);
use File::Path qw(make_path remove_tree);
use File::Basename qw(dirname);
use Time::HiRes qw(time);

my ($quick, $keep, $min, $list, $nobase) = (0, 0, 90, 'tests/mutants', 0);
my @only;
while (@ARGV) {
	my $a = shift @ARGV;
	if ($a eq '--quick') { $quick = 1 }
	elsif ($a eq '--keep') { $keep = 1 }
	elsif ($a eq '--no-baseline') { $nobase = 1 }
	elsif ($a eq '--min') { $min = shift @ARGV }
	elsif ($a eq '--list') { $list = shift @ARGV }
	elsif ($a =~ /^-/) { die "mutate: unknown option $a\n" }
	else { push @only, split /[\s,]+/, $a }
}

my $top = `git rev-parse --show-toplevel`;
die "mutate: not in a git checkout\n" if $? != 0;
chomp $top;
chdir $top or die "mutate: $top: $!\n";
my $timeout = $ENV{MUTATE_TIMEOUT} // 900;	# seconds per make run

# --- the list -------------------------------------------------------------
# Blocks separated by blank lines; "key: value" lines; '#' lines are
# comments.  A repeated find: or replace: line continues the text on a new
# line.  The text after "key: " is taken literally (tabs included).
sub parse_list {
	my ($path) = @_;
	open my $fh, '<', $path or die "mutate: $path: $!\n";
	my (@m, $cur, $lineno);
	my $flush = sub {
		return unless $cur;
		for my $k (qw(id file find replace breaks)) {
			die "mutate: $path: mutant ending at line $lineno: "
			    . "no $k\n" unless defined $cur->{$k};
		}
		$cur->{suites} //= '';
		push @m, $cur;
		undef $cur;
	};
	while (my $l = <$fh>) {
		$lineno = $.;
		chomp $l;
		next if $l =~ /^#/;
		if ($l =~ /^\s*$/) { $flush->(); next }
		$l =~ /^([a-z]+): ?(.*)$/
		    or die "mutate: $path:$.: not \"key: value\"\n";
		my ($k, $v) = ($1, $2);
		die "mutate: $path:$.: unknown key $k\n"
		    unless $k =~ /^(id|file|suites|find|replace|breaks|equivalent)$/;
		$cur //= { line => $. };
		if (($k eq 'find' || $k eq 'replace') && defined $cur->{$k}) {
			$cur->{$k} .= "\n$v";
		} elsif ($k eq 'breaks' && defined $cur->{$k}) {
			$cur->{$k} .= " $v";
		} else {
			die "mutate: $path:$.: $k twice\n" if defined $cur->{$k};
			$cur->{$k} = $v;
		}
	}
	$flush->();
	my %seen;
	for (@m) {
		die "mutate: $path: id $_->{id} twice\n" if $seen{$_->{id}}++;
	}
	return @m;
}

my @mutants = parse_list($list);
if (@only) {
	my %want = map { $_ => 1 } @only;
	my %have = map { $_->{id} => 1 } @mutants;
	for (@only) { die "mutate: no mutant $_ in $list\n" unless $have{$_} }
	@mutants = grep { $want{$_->{id}} } @mutants;
}

# --- the copy -------------------------------------------------------------
my $tmp = tempdir('pfsd-mutate.XXXXXX', TMPDIR => 1, CLEANUP => !$keep);
chmod 0755, $tmp;	# tests run pfsd as nobody from the copy
my $tree = "$tmp/tree";
{
	local $/ = "\0";
	open my $ls, '-|', 'git', 'ls-files', '-z', '--cached', '--others',
	    '--exclude-standard' or die "mutate: git ls-files: $!\n";
	while (my $f = <$ls>) {
		chomp $f;
		next unless -f $f;
		make_path(dirname("$tree/$f"));
		system('cp', '-p', $f, "$tree/$f") == 0
		    or die "mutate: cp $f failed\n";
	}
	close $ls;
}
print "mutate: ", scalar(@mutants), " mutants of $list; copy in $tree",
    ($keep ? " (kept)" : ""), "\n";

# Run make in the copy; 0 when it succeeded.  Output goes to $log.  The
# run is a process group of its own: killed whole when it takes longer
# than $timeout (a mutant that hangs a test counts as killed) and when
# this script is interrupted.
my $running = 0;
$SIG{INT} = $SIG{TERM} = sub {
	kill 'KILL', -$running if $running;
	exit 130;
};
sub run_in_copy {
	my ($log, $dir, $suite, @argv) = @_;
	my $pid = fork // die "mutate: fork: $!\n";
	if ($pid == 0) {
		setpgrp(0, 0);
		delete @ENV{qw(CK_RUN_CASE CK_RUN_SUITE MAKEFLAGS MFLAGS
		    MAKELEVEL)};
		$ENV{CK_RUN_SUITE} = $suite if defined $suite;
		open STDOUT, '>>', $log or die "mutate: $log: $!\n";
		open STDERR, '>&', \*STDOUT or die "mutate: dup: $!\n";
		chdir $dir or die "mutate: $dir: $!\n";
		exec @argv;
		die "mutate: $argv[0]: $!\n";
	}
	$running = $pid;
	my $timed_out = 0;
	local $SIG{ALRM} = sub { $timed_out = 1; kill 'KILL', -$pid };
	alarm $timeout;
	waitpid($pid, 0);
	my $rc = $?;
	alarm 0;
	kill 'KILL', -$pid;	# whatever it left running
	$running = 0;
	if ($timed_out) {
		open my $f, '>>', $log;
		print $f "mutate: killed after $timeout s\n";
		return 1;
	}
	return $rc;
}

sub make_in_copy {
	my ($log, @targets) = @_;
	return run_in_copy($log, $tree, undef, 'make', '--no-print-directory',
	    @targets);
}

# Build what `make check` builds, and its staged install (the install
# suite reads it); 0 when it all built.
sub build_copy {
	my ($log) = @_;
	remove_tree("$tree/tests/run/stage");
	return make_in_copy($log, 'check-build') ||
	    make_in_copy($log, 'install', 'PREFIX=/usr',
	    "DESTDIR=$tree/tests/run/stage");
}

# One suite of the built copy; 0 when it passed.
sub run_suite {
	my ($log, $suite) = @_;
	return run_in_copy($log, "$tree/tests", $suite, './bin/check_pfsd');
}

my $blog = "$tmp/baseline.log";
# configure and every object first (deps, autoreconf, configure)
if (make_in_copy($blog, 'all') != 0 || build_copy($blog) != 0) {
	system("tail -n 30 '$blog'");
	die "mutate: the unmodified copy does not build\n";
}
# The suites, as tests/check_main.c lists them: X(name) in SUITES.
my @suites;
{
	my $main = slurp("$tree/tests/check_main.c") // '';
	my ($list) = $main =~ /#define SUITES\(X\)((?:[^\n]*\\\n)*[^\n]*)/;
	@suites = ($list // '') =~ /X\((\w+)\)/g;
	die "mutate: no SUITES(X) list in tests/check_main.c\n" unless @suites;
}
my %relevant;
for my $m (@mutants) {
	for my $s (split /[\s,]+/, $m->{suites}) {
		next if $s eq '';
		die "mutate: mutant $m->{id}: no suite $s in SUITES\n"
		    unless grep { $_ eq $s } @suites;
		$relevant{$s} = 1;
	}
}
my @base = $nobase ? () : $quick ? sort(keys %relevant) : @suites;
# Tests that fail now and then (a port taken by another run on the same
# machine) must not stop the whole run: each suite gets three tries.
for my $s (@base) {
	my $tries = 0;
	while (run_suite($blog, $s) != 0) {
		system("grep -E ':[EF]:' '$blog' | tail -n 5");
		die "mutate: the unmodified copy fails suite $s; see $blog\n"
		    if ++$tries == 3;
		print "mutate: baseline: suite $s failed; trying again\n";
	}
}
print "mutate: baseline passes (suites @base)\n" if @base;

# --- the mutants ----------------------------------------------------------
sub slurp { open my $f, '<', $_[0] or return undef; local $/; <$f> }
sub spew {
	open my $f, '>', $_[0] or die "mutate: $_[0]: $!\n";
	print $f $_[1];
	close $f;
}

my %count;
my @survivors;
for my $m (@mutants) {
	my $t0 = time;
	my ($verdict, $why) = ('', '');
	if (defined $m->{equivalent}) {
		($verdict, $why) = ('EQUIVALENT', $m->{equivalent});
		goto REPORT;
	}
	my $path = "$tree/$m->{file}";
	my $orig = slurp($path);
	if (!defined $orig) {
		($verdict, $why) = ('STALE', "no file $m->{file}");
		goto REPORT;
	}
	my $n = () = $orig =~ /\Q$m->{find}\E/g;
	if ($n != 1) {
		($verdict, $why) = ('STALE', $n == 0 ? "text not found in "
		    . "$m->{file}" : "text found $n times in $m->{file}");
		goto REPORT;
	}
	my $mut = $orig;
	my $at = index($mut, $m->{find});
	substr($mut, $at, length $m->{find}) = $m->{replace};
	spew($path, $mut);
	my $log = "$tmp/$m->{id}.log";
	my @flaky;
	if (build_copy($log) != 0) {
		($verdict, $why) = ('NOBUILD', "see $log");
	} else {
		my %done;
		for my $s (split /[\s,]+/, $m->{suites}) {
			next if $s eq '' || $done{$s}++;
			if (run_suite($log, $s) != 0) {
				($verdict, $why) = ('KILLED', "by suite $s");
				last;
			}
		}
		# then the others; a failure there is confirmed by a second
		# run (another run on the machine may have taken a port)
		for my $s ($quick ? () : @suites) {
			last if $verdict;
			next if $done{$s}++;
			next if run_suite($log, $s) == 0;
			if (run_suite($log, $s) != 0) {
				($verdict, $why) = ('KILLED', "by suite $s "
				    . "(not listed for it)");
			} else {
				push @flaky, $s;
			}
		}
		if (!$verdict) {
			($verdict, $why) = ('SURVIVED', $quick ?
			    "suites $m->{suites} pass" : "every suite passes");
			push @survivors, $m;
		}
		$why .= "; failed once, passed again: @flaky" if @flaky;
	}
	spew($path, $orig);	# newer than the mutant's objects
REPORT:
	$count{$verdict}++;
	printf "%-10s %-28s %4ds  %s: %s\n", $verdict, $m->{id}, time - $t0,
	    $m->{file}, $why;
}

my $k = $count{KILLED} // 0;
my $s = $count{SURVIVED} // 0;
my $score = $k + $s > 0 ? 100 * $k / ($k + $s) : 0;
print "\n";
for my $m (@survivors) {
	print "SURVIVED $m->{id} ($m->{file}): $m->{breaks}\n";
}
printf "mutation score: %d/%d killed (%.1f%%); %d stale, %d equivalent, "
    . "%d not building\n", $k, $k + $s, $score, $count{STALE} // 0,
    $count{EQUIVALENT} // 0, $count{NOBUILD} // 0;
exit($k + $s > 0 && $score >= $min ? 0 : 1);
