/**
 * IPv4 addresses as unsigned 32-bit numbers, and the address classes SECFLOW.md uses.
 * @module
 */

/** Dotted-quad text of a numeric IPv4 address. */
export function ipToString(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** Parses a dotted-quad IPv4 address; `undefined` when `text` is not one. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let ip = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    ip = ip * 256 + n;
  }
  return ip;
}

/**
 * "Local" as SECFLOW.md section 1 defines it (private, loopback, link-local, documentation,
 * benchmarking, multicast, reserved and broadcast ranges).
 */
export function isLocal(ip: number): boolean {
  const a = ip >>> 24;
  if (a === 0 || a === 10 || a === 127 || a >= 224) return true;
  const b = (ip >>> 16) & 255;
  switch (a) {
    case 169:
      return b === 254;
    case 172:
      return (b & 0xf0) === 16;
    case 192: {
      if (b === 168) return true;
      if (b !== 0) return false;
      const c = (ip >>> 8) & 255;
      if (c === 2) return true;
      if (c !== 0) return false;
      const d = ip & 255;
      return d !== 9 && d !== 10;
    }
    case 198:
      return b === 18 || b === 19 || (b === 51 && ((ip >>> 8) & 255) === 100);
    case 203:
      return b === 0 && ((ip >>> 8) & 255) === 113;
  }
  return false;
}

/** FILTER-LOCAL of SECFLOW.md section 1: the capture filter's narrower local list. */
export function isFilterLocal(ip: number): boolean {
  const a = ip >>> 24;
  if (ip === 0 || a === 10 || a === 127 || a >= 224 && a <= 239 || ip === 0xffffffff) return true;
  const b = (ip >>> 16) & 255;
  return (a === 172 && (b & 0xf0) === 16) || (a === 192 && b === 168);
}

/** RFC 1918 private space: 10/8, 172.16/12, 192.168/16. */
export function isRfc1918(ip: number): boolean {
  const a = ip >>> 24;
  const b = (ip >>> 16) & 255;
  return a === 10 || (a === 172 && (b & 0xf0) === 16) || (a === 192 && b === 168);
}

/** The ranges whose A answers reveal a local lookup: RFC 1918, 127/8 and 169.254/16. */
export function isLocalLookupAnswer(ip: number): boolean {
  const a = ip >>> 24;
  return isRfc1918(ip) || a === 127 || (a === 169 && ((ip >>> 16) & 255) === 254);
}
