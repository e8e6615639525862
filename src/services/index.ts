import { AuditTrail } from "../audit/audit-trail";
import type { Database } from "../storage/connection";
import { OrganizationStore, ScimTokenStore } from "../storage/organizations";
import { UserStore } from "../storage/users";
import { AuthFailureCounters } from "../storage/auth-failures";
import { Organizations } from "./organizations";
import { ScimTokens } from "./scim-tokens";
import { UserDirectory } from "./users";
import { GroupDirectory } from "./groups";
import { GroupStore } from "../storage/groups";

/** Every use-case, wired to one database. Built once per process (or per test). */
export interface Services {
  audit: AuditTrail;
  organizations: Organizations;
  scimTokens: ScimTokens;
  users: UserDirectory;
  groups: GroupDirectory;
  authFailures: AuthFailureCounters;
}

export function createServices(db: Database, options: { authFailureWindowSeconds: number }): Services {
  const audit = new AuditTrail(db.models);
  const scimTokens = new ScimTokens(new ScimTokenStore(db.models), audit);
  const userStore = new UserStore(db.models);
  return {
    audit,
    scimTokens,
    organizations: new Organizations(new OrganizationStore(db.models), scimTokens, audit),
    users: new UserDirectory(userStore, audit),
    groups: new GroupDirectory(new GroupStore(db.models), userStore, audit),
    authFailures: new AuthFailureCounters(db.models, options.authFailureWindowSeconds),
  };
}
