/*
 * peer.c - a test handler that says who it is talking to: first the line
 * "peer=ADDR port=PORT proxy=ADDR|-", then every line the client sends,
 * echoed back (so a test sees that stdin starts right after a PROXY
 * header), until EOF or a line "quit".
 */
#include <stdio.h>
#include <string.h>

#include <pfsd.h>

PFSD_PLUGIN("peer");

int
process_request(struct pfsd_request *req)
{
	const char	*proxy = pfsd_proxy_addr(req);
	char		 line[1024];

	printf("peer=%s port=%d proxy=%s\n", pfsd_peer_addr(req),
	    pfsd_peer_port(req), proxy != NULL ? proxy : "-");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (strcmp(line, "quit\n") == 0 || strcmp(line, "quit\r\n") == 0)
			break;
		fputs(line, stdout);
		fflush(stdout);
	}
	return 0;
}
