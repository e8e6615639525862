import type { NextFunction, Request, Response } from "express";
import type { Services } from "../services";

/**
 * Tells the provisioning activity (services/provisioning-activity.ts) how each authenticated SCIM
 * request was answered, once the answer is sent: an administrator then sees whether the identity
 * provider's last request succeeded. Requests whose token was refused name no organization and are
 * not recorded (they are counted by the failed-authentication limits instead).
 */
export function recordScimOutcomes(services: Pick<Services, "provisioningActivity">) {
  return (req: Request, res: Response, next: NextFunction) => {
    res.once("finish", () => {
      if (req.organizationId) services.provisioningActivity.answered(req.organizationId, { at: new Date(), method: req.method, status: res.statusCode });
    });
    next();
  };
}
