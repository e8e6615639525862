import { Badge, Button, formatTime } from "./ui";

/** What the token lists of the API (SCIM tokens, personal API tokens) have in common. */
export interface ListedToken {
  readonly id: string;
  readonly name: string;
  readonly created: string;
  readonly lastUsed?: string | undefined;
  readonly expires?: string | undefined;
  readonly revoked?: string | undefined;
}

/**
 * A table of tokens — name, created, last used, expiry, status — with a Revoke button on each one
 * still in use (not revoked, not expired). Shared by the Provisioning page (SCIM tokens) and Your
 * access (personal API tokens); never shows a secret (the lists have none).
 */
export function TokenTable({ tokens, busy, onRevoke }: { tokens: readonly ListedToken[]; busy: boolean; onRevoke(token: ListedToken): void }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Expires</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((token) => {
            const expired = token.expires !== undefined && Date.parse(token.expires) <= Date.now();
            return (
              <tr key={token.id}>
                <td>{token.name}</td>
                <td>{formatTime(token.created)}</td>
                <td>{token.lastUsed ? formatTime(token.lastUsed) : "Never"}</td>
                <td>{token.expires ? formatTime(token.expires) : "Never"}</td>
                <td>{token.revoked ? <Badge tone="danger">Revoked {formatTime(token.revoked)}</Badge> : expired ? <Badge tone="warning">Expired</Badge> : <Badge tone="ok">Active</Badge>}</td>
                <td>
                  {token.revoked || expired ? null : (
                    <Button variant="danger" isDisabled={busy} aria-label={`Revoke ${token.name}`} onPress={() => onRevoke(token)}>
                      Revoke
                    </Button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
