#!/usr/bin/perl
# netserver_echo.pl - the line-echo server on Net::Server::PreForkSimple, the
# Perl original pfsd is measured against (bench/run.sh).
#
#   perl bench/netserver_echo.pl --port 127.0.0.1:PORT --max_servers 8 \
#       [--max_requests N] [--serialize flock|semaphore|pipe] \
#       [--log_level N] [--log_file FILE] [--pid_file FILE]
#
# Each child echoes every line of a connection until the client closes, as
# pfsd's echo handler does.
use strict;
use warnings;

package BenchEcho;
use parent 'Net::Server::PreForkSimple';

sub process_request {
	my $self = shift;

	local $| = 1;
	while (my $line = <STDIN>) {
		print $line;
	}
	return;
}

package main;
use Getopt::Long qw(GetOptionsFromArray);

my %opt = (
	port => '127.0.0.1:20203',
	max_servers => 8,
	max_requests => 100000,
	serialize => 'flock',
	log_level => 1,
);
# Parse a copy: Net::Server re-execs $0 with @ARGV on HUP.
my @args = @ARGV;
GetOptionsFromArray(\@args, \%opt, 'port=s', 'max_servers=i', 'max_requests=i',
    'serialize=s', 'log_level=i', 'log_file=s', 'pid_file=s')
    or die "usage: $0 --port HOST:PORT [--max_servers N] " .
    "[--max_requests N] [--serialize MODE] [--log_level N]\n";
BenchEcho->run(%opt);
