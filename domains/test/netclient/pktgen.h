/*
 * The frames Linux's pktgen sends as bench/linux-guest/init's pktgen_send
 * configures it (ci/groups/netrx.py), checked byte for byte by netclient's
 * receive(): a source nobody here wrote, so what Maple's receive path
 * delivers is set against pktgen's own recipe (Linux net/core/pktgen.c,
 * fill_packet_ipv4 and pktgen_finalize_skb), not against our own sender.
 */
#ifndef DOMAINS_NETCLIENT_PKTGEN_H
#define DOMAINS_NETCLIENT_PKTGEN_H

#include <stdint.h>

/* What pktgen_send sets (bench/linux-guest/init) and pktgen's defaults. */
#define PG_SADDR 0x0a000001u /* src_min/src_max 10.0.0.1 */
#define PG_DADDR 0x0a000002u /* dst 10.0.0.2 */
#define PG_PORT	 9	     /* pktgen's udp_src_min/udp_dst_min default (discard) */
#define PG_MAGIC 0xbe9be955u /* PKTGEN_MAGIC, big-endian at the payload's start */
#define PG_MIN	 60	     /* the shortest and longest frame accepted (bytes without */
#define PG_MAX	 1514	     /* FCS): ci/groups/netrx.py's pktgen_send MIN and MAX */

/* Why a frame is not one of pktgen's. */
enum pg_verdict {
	PG_OK,
	PG_LENGTH,     /* under PG_MIN or over PG_MAX bytes */
	PG_ETHER,      /* destination, source or ethertype not what was sent */
	PG_IP_HEADER,  /* not IPv4 without options, UDP, 10.0.0.1 to 10.0.0.2, unfragmented */
	PG_IP_LENGTH,  /* total length is not the frame's length less the Ethernet header */
	PG_IP_SUM,     /* the header checksum does not check */
	PG_UDP_HEADER, /* ports not 9 to 9, or length not the IP payload's */
	PG_UDP_SUM,    /* the checksum is 0 (pktgen's UDPCSUM always sets one) or does not check */
	PG_MAGIC_BAD,  /* pktgen's header does not start with PG_MAGIC */
	PG_PAYLOAD,    /* timestamp (NO_TIMESTAMP: 0) or padding (zeros) not zero */
	PG_VERDICTS
};

/*
 * Check frame f of len bytes against pktgen's recipe: sent by src to dst
 * (6 bytes each). Every byte is checked: by value, or (the IP id) by the
 * header checksum. On PG_OK, *seq is pktgen's sequence number.
 */
enum pg_verdict pktgen_check(const uint8_t *f, uint32_t len, const uint8_t dst[6],
			     const uint8_t src[6], uint32_t *seq);

/* A verdict's name, for a log line. */
const char *pktgen_verdict_name(enum pg_verdict v);

#endif
