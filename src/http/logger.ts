import pino from "pino";

export type Logger = pino.Logger;

/**
 * Structured JSON logs. Authorization headers, cookies, tokens and passwords are redacted by
 * path as a second line of defence; request logging never includes bodies in the first place.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({
    level,
    base: { service: "gatehouse" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        "*.authorization",
        "*.cookie",
        '*["set-cookie"]',
        "*.headers.authorization",
        "*.headers.cookie",
        '*.headers["set-cookie"]',
        "*.cookieValue",
        "*.csrfToken",
        "*.token",
        "*.password",
        "*.secret",
        "*.SAMLResponse",
        "*.SAMLRequest",
        "*.scimToken",
        "headers.authorization",
        "headers.cookie",
      ],
      censor: "[redacted]",
    },
  }, destination);
}
