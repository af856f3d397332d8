/**
 * True when `hostname` (as `URL.hostname` gives it) can only reach this machine: `localhost` and
 * `*.localhost`, 127.0.0.0/8 and `::1`. Plain `http://` is accepted only for these, since a
 * bearer key sent in clear text to anything else can be read on the way.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  const octets = host.split('.');
  return (
    octets.length === 4 &&
    octets[0] === '127' &&
    octets.every((octet) => /^\d{1,3}$/.test(octet) && Number(octet) <= 255)
  );
}
