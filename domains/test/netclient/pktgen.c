/*
 * netclient's check of a frame from Linux's pktgen (pktgen.h). Offsets
 * from the frame's start: Ethernet 0..13 (IEEE 802.3), IPv4 14..33 (RFC
 * 791 3.1, no options: pktgen writes ihl 5), UDP 34..41 (RFC 768), then
 * pktgen's header (magic, sequence number, tv_sec, tv_usec; 4 bytes each,
 * big-endian) and zero padding to the frame's end.
 */
#include <test/netclient/pktgen.h>

#define ETH	14
#define IP	ETH
#define UDP	(IP + 20)
#define PAYLOAD (UDP + 8)

static uint32_t be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
	return be16(p) << 16 | be16(p + 2);
}

/* The 16-bit one's complement sum (RFC 1071) of n bytes, added to sum. */
static uint32_t sum16(uint32_t sum, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		sum += be16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint32_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static int same6(const uint8_t *a, const uint8_t *b)
{
	for (int i = 0; i < 6; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

enum pg_verdict pktgen_check(const uint8_t *f, uint32_t len, const uint8_t dst[6],
			     const uint8_t src[6], uint32_t *seq)
{
	if (len < PG_MIN || len > PG_MAX)
		return PG_LENGTH;
	if (!same6(f, dst) || !same6(f + 6, src) || be16(f + 12) != 0x0800)
		return PG_ETHER;
	/* version 4, ihl 5; tos 0; flags and fragment offset 0; ttl 32 (pktgen's). */
	if (f[IP] != 0x45 || f[IP + 1] != 0 || be16(f + IP + 6) != 0 || f[IP + 8] != 32 ||
	    f[IP + 9] != 17 || be32(f + IP + 12) != PG_SADDR || be32(f + IP + 16) != PG_DADDR)
		return PG_IP_HEADER;
	if (be16(f + IP + 2) != len - ETH)
		return PG_IP_LENGTH;
	if (fold(sum16(0, f + IP, 20)) != 0xffff)
		return PG_IP_SUM;
	uint32_t udp_len = len - UDP;
	if (be16(f + UDP) != PG_PORT || be16(f + UDP + 2) != PG_PORT ||
	    be16(f + UDP + 4) != udp_len)
		return PG_UDP_HEADER;
	/* RFC 768: the sum over the pseudo header (addresses, protocol, UDP
	 * length), the header and the data; a sum of 0 is sent as 0xffff. */
	uint32_t pseudo = sum16(0, f + IP + 12, 8) + 17 + udp_len;
	if (be16(f + UDP + 6) == 0 || fold(sum16(pseudo, f + UDP, udp_len)) != 0xffff)
		return PG_UDP_SUM;
	if (be32(f + PAYLOAD) != PG_MAGIC)
		return PG_MAGIC_BAD;
	for (uint32_t i = PAYLOAD + 8; i < len; i++)
		if (f[i])
			return PG_PAYLOAD;
	*seq = be32(f + PAYLOAD + 4);
	return PG_OK;
}

const char *pktgen_verdict_name(enum pg_verdict v)
{
	static const char *const names[PG_VERDICTS] = {
		[PG_OK] = "ok",
		[PG_LENGTH] = "length out of range",
		[PG_ETHER] = "Ethernet addresses or type",
		[PG_IP_HEADER] = "IPv4 header fields",
		[PG_IP_LENGTH] = "IPv4 total length",
		[PG_IP_SUM] = "IPv4 header checksum",
		[PG_UDP_HEADER] = "UDP ports or length",
		[PG_UDP_SUM] = "UDP checksum",
		[PG_MAGIC_BAD] = "pktgen magic",
		[PG_PAYLOAD] = "timestamp or padding not zero",
	};
	return (unsigned)v < PG_VERDICTS ? names[v] : "?";
}
