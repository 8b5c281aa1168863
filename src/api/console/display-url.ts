/**
 * Webhook URLs as the console shows them: user info and query string hidden, because receivers
 * often carry a credential there and a console page ends up in screenshots and tickets.
 */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    const auth = u.username !== '' || u.password !== '' ? '•••@' : '';
    return `${u.protocol}//${auth}${u.host}${u.pathname}${u.search !== '' ? '?…' : ''}`;
  } catch {
    return '(not a URL)';
  }
}
