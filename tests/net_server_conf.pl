#!/usr/bin/perl
# net_server_conf.pl CONF - what Net::Server::PreForkSimple itself makes
# of CONF, printed as pfsd -T prints it ("key value" lines, then "port
# HOST:PORT/PROTO" or "port PATH/unix"), for the keys CONF sets.  The
# compat suite compares this with pfsd -T on the same file.
use strict;
use warnings;
use Net::Server::PreForkSimple;

my $conf = shift @ARGV;	# not left in @ARGV: configure reads it too
my $s = Net::Server::PreForkSimple->new(conf_file => $conf);
$s->configure;
my $p = $s->{'server'};
# The keys Net::Server::Log::Sys::Syslog reads (its initialize() would
# also open syslog): read from the file with the template it uses.
if (($p->{'log_file'} || '') eq 'Sys::Syslog') {
	$s->process_args($s->_read_conf($conf), {
	    map { $_ => \$p->{$_} } qw(syslog_logsock syslog_ident
	    syslog_logopt syslog_facility) });
}
for my $k (qw(max_servers max_requests check_for_dead max_dequeue
    check_for_dequeue serialize lock_file user group chroot pid_file
    background setsid log_file log_level syslog_ident syslog_facility
    allow deny cidr_allow cidr_deny reverse_lookups no_client_stdout
    listen)) {
	my $v = $p->{$k};
	next if ! defined $v;
	for my $one (ref $v ? @$v : ($v)) {
		print "$k $one\n";
	}
}
for my $port (@{ $s->prepared_ports }) {
	my $proto = lc $port->{'proto'};
	if ($proto =~ /^unix/) {
		print "port $port->{'port'}/$proto\n";
	} else {
		# pfsd -T names an IPv4-only wildcard by its address
		my $host = $port->{'host'};
		$host = '0.0.0.0' if $host eq '*' && $port->{'ipv'} eq '4';
		print "port $host:$port->{'port'}/$proto\n";
	}
}
