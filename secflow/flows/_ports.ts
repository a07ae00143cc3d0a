/**
 * What the flow engine (`engine.ts`) looks up by number: the ports servers listen on, the ICMP
 * types that are replies, and the ports whose traffic the platform leaves out. Tables of one byte a
 * number, so a lookup in the per-packet code is one load.
 * @module
 */

/**
 * Ports a server listens on (after Zeek's `likely_server_ports`): a flow whose first packet comes
 * from one of them to a port that is not one, with no SYN to tell, is turned around, as Zeek
 * does, so that the client is the source.
 */
export const SERVER_PORTS = new Uint8Array(65536);
for (
  const port of [
    21,
    22,
    23,
    25,
    53,
    67,
    69,
    80,
    88,
    110,
    111,
    123,
    135,
    137,
    138,
    139,
    143,
    161,
    179,
    389,
    443,
    445,
    465,
    500,
    514,
    515,
    587,
    593,
    636,
    853,
    989,
    990,
    993,
    995,
    1080,
    1194,
    1433,
    1521,
    1701,
    1723,
    1812,
    1813,
    1883,
    2049,
    2152,
    3128,
    3306,
    3389,
    3478,
    3544,
    4500,
    4789,
    5060,
    5061,
    5222,
    5353,
    5355,
    5432,
    5900,
    6081,
    6379,
    6667,
    8000,
    8080,
    8443,
    8888,
    9200,
    11211,
    27017,
  ]
) SERVER_PORTS[port] = 1;
/** ICMP (v4 and v6) reply types: a flow first seen as a reply is turned around. */
export const ICMP_REPLY = new Uint8Array(256);
for (const t of [0, 14, 16, 18]) ICMP_REPLY[t] = 1;
export const ICMP6_REPLY = new Uint8Array(256);
for (const t of [129, 136]) ICMP6_REPLY[t] = 1;

/** Section 6's blocked ports: a flow on one is not in the sample. */
export const BLOCKED_PORTS = new Uint8Array(65536);
for (const port of [67, 68, 137, 139, 389, 445, 636, 1900, 5353, 5355]) BLOCKED_PORTS[port] = 1;
