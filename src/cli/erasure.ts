import type { Command } from "commander";
import type { Services } from "../services";
import { requireOrganization, withOrganization } from "./organizations";
import { runs, type OperatorContext } from "./program";

/** `gatehouse erase-personal-data`: the operator's way to the erasure the Owner has in the admin API. */
async function erasePersonalData(services: Services, ctx: OperatorContext, options: { org: string; user: string; confirm: string; json?: boolean }): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  const report = await services.personalDataErasure.erase({ ...ctx, organizationId: org }, options.user, options.confirm);
  if (options.json) return [JSON.stringify(report)];
  return [
    `Erased the personal data of user ${options.user}: now ${report.pseudonym} in the audit trail.`,
    `${report.eventsRewritten} of ${report.eventsScanned} events rewritten, ${report.personalTokens} personal tokens renamed, ${report.sessions} sessions deleted, in ${report.ms} ms.`,
  ];
}

export function erasureCommands(program: Command): void {
  runs(
    withOrganization(program.command("erase-personal-data"))
      .summary("replace a deleted member's personal data in the audit trail by a pseudonym (irreversible)")
      .description(
        "Replaces a deleted member's names, emails, userName and id in every audit event of the organization with a stable pseudonym (erased-…), renames their personal tokens and deletes their sessions. Irreversible; refused while the member exists. Audited as user.personal_data_erased.",
      )
      .requiredOption("--user <USER_ID>", "the deleted member's id, as the audit trail shows it")
      .requiredOption("--confirm <USERNAME>", "the deleted member's userName, as the audit trail records it")
      .option("--json", "print the report as JSON"),
    erasePersonalData,
  );
}
