/**
 * The name of the Web Lock and of the `BroadcastChannel` of one sharing group. Tabs share a
 * connection only when they would open the same request: same resolved URL and same credentials
 * mode (a credentialed stream may carry different data than an anonymous one).
 */
export function groupName(url: URL, withCredentials: boolean): string {
  return `herald-sse:${withCredentials ? 'credentials' : 'anonymous'}:${url.href}`;
}
