/** Which service answers a public path; the one routing table for the local edge. */
export type Upstream = 'users' | 'activity' | 'gateway';

const activityPaths = [
  /^\/api\/v1\/activities\/?$/,
  /^\/api\/v1\/users\/[^/]+\/(activities|activity-count|active-workspaces)\/?$/,
];
const gatewayPaths = [/^\/api\/v1\/users\/[^/]+\/activity-stream\/?$/, /^\/demo(\/|$)/];

export function upstreamFor(url: string): Upstream {
  const path = url.split('?')[0] ?? '/';
  if (activityPaths.some((re) => re.test(path))) return 'activity';
  if (gatewayPaths.some((re) => re.test(path))) return 'gateway';
  return 'users';
}
