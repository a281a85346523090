/*
 * daytime.c - the Daytime Protocol (RFC 867): send the current date and
 * time as one human-readable line, then close.  Over UDP, any datagram
 * gets the line back as its reply; over TCP, nothing is read.
 *
 *	pfsd --handler=daytime --port=13 --port=13/udp
 */
#include <stdio.h>
#include <time.h>

#include <pfsd.h>

PFSD_PLUGIN("daytime");

/*
 * Read the time zone now, in the parent: after a chroot, /etc/localtime
 * may be out of reach, and the C library keeps what tzset() loaded.
 */
int
post_configure_hook(struct pfsd_server *srv)
{
	(void)srv;
	tzset();
	return 0;
}

int
process_request(struct pfsd_request *req)
{
	char		 line[128];
	struct tm	 tm;
	time_t		 now;

	(void)req;
	now = time(NULL);
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(line, sizeof line, "%a %b %e %H:%M:%S %Y %Z", &tm) == 0) {
		pfsd_log(PFSD_LOG_ERR, "daytime: cannot format the time");
		return 1;
	}
	/* RFC 867 fixes no syntax; CRLF is what telnet-era clients expect */
	printf("%s\r\n", line);
	fflush(stdout);
	return 0;
}
