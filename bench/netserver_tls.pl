#!/usr/bin/perl
# netserver_tls.pl - Net::Server::PreFork with proto ssl (IO::Socket::SSL)
# answering every connection with "Hello, world!" over HTTP/1.0, as
# pfsd's http_hello does (bench/tls.sh).
#
#   perl bench/netserver_tls.pl PORT CERT KEY [CHILDREN]
use strict;
use warnings;

package BenchTLS;
use parent 'Net::Server::PreFork';

sub process_request {
	my $self = shift;

	while (my $line = <STDIN>) {
		last if $line =~ /^\r?\n$/;
	}
	print "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
	    . "Content-Length: 14\r\n\r\nHello, world!\n";
	return;
}

package main;

my ($port, $cert, $key, $n) = @ARGV;
$n ||= 8;
BenchTLS->run(
	port => "127.0.0.1:$port/ssl",
	SSL_cert_file => $cert,
	SSL_key_file => $key,
	min_servers => $n,
	max_servers => $n,
	min_spare_servers => 1,
	max_spare_servers => $n - 1,
	max_requests => 1000000,
	log_level => 1,
);
