/*
 * echo_v2.c - test handler: echo, but every reply starts with "v2 ".  The
 * HUP test installs it over the echo handler's file and checks that new
 * connections get the new code while old ones finish with the old.
 */
#include <stdio.h>
#include <string.h>

#include <pfsd.h>

PFSD_PLUGIN("echo_v2");

int
process_request(struct pfsd_request *req)
{
	char	line[4096];

	(void)req;
	while (fgets(line, sizeof line, stdin) != NULL) {
		if (strcmp(line, "quit\n") == 0 || strcmp(line, "quit\r\n") == 0)
			break;
		if (printf("v2 %s", line) < 0 || fflush(stdout) == EOF)
			break;
	}
	return 0;
}
