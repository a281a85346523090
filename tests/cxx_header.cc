/*
 * cxx_header.cc - pfsd.h must serve a handler written in C++: this file
 * is only compiled (g++ -fsyntax-only -Wall -Wextra -Werror), never run.
 * It uses the descriptor macro, defines hooks with C++ bodies and calls
 * the API, so a header change that breaks C++ linkage or syntax fails
 * `make check`.
 */
#include <cstdio>
#include <string>

#include <pfsd.h>

PFSD_PLUGIN("cxx");

namespace {

std::string
greeting(const struct pfsd_server *srv)
{
	const char *g = pfsd_option(srv, "greeting");

	return g != nullptr ? g : "hello";
}

}

int
post_configure_hook(struct pfsd_server *srv)
{
	pfsd_log(PFSD_LOG_INFO, "cxx: %zu values of port",
	    pfsd_option_count(srv, "port"));
	return 0;
}

int
process_request(struct pfsd_request *req)
{
	socklen_t		 len;
	const struct sockaddr	*sa = pfsd_peer_sockaddr(req, &len);
	std::string		 s = greeting(pfsd_request_server(req));

	std::printf("%s %s:%d family %d proto %d\n", s.c_str(),
	    pfsd_peer_addr(req), pfsd_peer_port(req),
	    sa != nullptr ? sa->sa_family : -1,
	    static_cast<int>(pfsd_request_proto(req)));
	if (pfsd_requests(pfsd_request_server(req)) > 100)
		pfsd_done(pfsd_request_server(req));
	return 0;
}

