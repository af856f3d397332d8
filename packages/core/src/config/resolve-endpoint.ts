import { DEFAULT_CHAT_PATH } from '../descriptor/defaults.js';
import type { ProviderDescriptor } from '../descriptor/types.js';
import type { IssuePath } from './config-issues.js';
import { isLoopbackHost } from './is-loopback-host.js';
import { didYouMean, listNames, optionalString } from './resolve-context.js';
import type { Context, Loose } from './resolve-context.js';

function joinChatUrl(base: string, chatPath: string): string {
  const url = new URL(base);
  const basePath = url.pathname.replace(/\/+$/, '');
  // A base URL pasted with the chat path already on it is taken as is, not doubled.
  url.pathname = basePath.endsWith(chatPath) ? basePath : `${basePath}${chatPath}`;
  return url.toString();
}

/** Refuses plain http:// to anything but loopback unless the instance sets `allowInsecure`. */
export function checkTransportSecurity(
  base: string,
  reportPath: IssuePath,
  instance: Loose,
  context: Context,
): void {
  if (!URL.canParse(base)) return;
  const parsed = new URL(base);
  if (parsed.protocol !== 'http:' || isLoopbackHost(parsed.hostname)) return;
  if (instance.allowInsecure === true) return;
  context.issues.add(
    reportPath,
    `plain http:// endpoint ${parsed.host} is not loopback: the API key would cross the ` +
      'network in clear text',
    'use https://, or set allowInsecure: true on this provider instance for a trusted network',
    base,
  );
}

/**
 * The chat URL of provider instance `name`: its `endpoint` (a descriptor endpoint name or a base
 * URL) or the descriptor's default, plus the chat path; insecure or malformed URLs are issues.
 */
export function resolveEndpoint(
  name: string,
  instance: Loose,
  descriptor: ProviderDescriptor,
  context: Context,
): { url: string; endpointName: string | undefined } | undefined {
  const endpoint = optionalString(instance.endpoint);
  const endpointPath = ['providers', name, 'endpoint'];
  const known = Object.keys(descriptor.endpoints);
  let base: string;
  let endpointName: string | undefined;
  let reportPath: IssuePath = endpointPath;

  if (endpoint === undefined) {
    endpointName = descriptor.defaultEndpoint;
    base = descriptor.endpoints[endpointName] ?? '';
    reportPath = ['providers', name, instance.descriptor ? 'descriptor' : 'use'];
  } else if (endpoint.includes('://')) {
    if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) {
      context.issues.add(
        endpointPath,
        'is not a valid http(s) URL',
        "write a base URL such as 'https://api.example.com/v1', or an endpoint name: " +
          listNames(known),
        endpoint,
      );
      return undefined;
    }
    base = endpoint;
    endpointName = known.find((key) => descriptor.endpoints[key] === endpoint);
  } else {
    const match = descriptor.endpoints[endpoint];
    if (match === undefined) {
      context.issues.add(
        endpointPath,
        `names no endpoint of "${descriptor.id}"; its endpoints: ${listNames(known)}` +
          didYouMean(endpoint, known),
        'use one of those names or an https:// base URL',
        endpoint,
      );
      return undefined;
    }
    base = match;
    endpointName = endpoint;
  }

  checkTransportSecurity(base, reportPath, instance, context);
  const parsed = new URL(base);
  if (parsed.username !== '' || parsed.password !== '') {
    // fetch refuses URLs with credentials, and they would show up wherever the URL is printed.
    context.issues.add(
      reportPath,
      'carries credentials in the URL (user:password@)',
      'remove them from the URL; put the key in apiKey (or a header in headers)',
      base,
    );
  }
  return { url: joinChatUrl(base, descriptor.chatPath ?? DEFAULT_CHAT_PATH), endpointName };
}
