import { ConfigError, loadConfig } from "../../src/config";

describe("configuration", () => {
  it("has working defaults for a fresh machine", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, publicBaseUrl: "http://localhost:8080", mongodbUri: undefined, logLevel: "info" });
    expect(config.scim.maxResults).toBeGreaterThan(0);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("uses PUBLIC_BASE_URL without a trailing slash", () => {
    expect(loadConfig({ PUBLIC_BASE_URL: "https://id.example.com/" }).publicBaseUrl).toBe("https://id.example.com");
  });

  it("lists every bad variable at once", () => {
    let error: unknown;
    try {
      loadConfig({ PORT: "eighty", MONGODB_URI: "postgres://x", PUBLIC_BASE_URL: "not a url", LOG_LEVEL: "loud", SCIM_MAX_RESULTS: "0" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join("\n");
    for (const variable of ["PORT", "MONGODB_URI", "PUBLIC_BASE_URL", "LOG_LEVEL", "SCIM_MAX_RESULTS"]) expect(problems).toContain(variable);
  });

  it("has session timeouts of 30 minutes idle and 12 hours absolute, and no CORS origin, by default", () => {
    const config = loadConfig({});
    expect(config.sessions).toEqual({ idleTimeoutMinutes: 30, absoluteTimeoutHours: 12 });
    expect(config.corsAllowedOrigins).toEqual([]);
  });

  it("reads session timeouts and normalised CORS origins", () => {
    const config = loadConfig({
      SESSION_IDLE_TIMEOUT_MINUTES: "15",
      SESSION_ABSOLUTE_TIMEOUT_HOURS: "8",
      CORS_ALLOWED_ORIGINS: "https://App.example.com, http://localhost:3000/,https://app.example.com",
    });
    expect(config.sessions).toEqual({ idleTimeoutMinutes: 15, absoluteTimeoutHours: 8 });
    expect(config.corsAllowedOrigins).toEqual(["https://app.example.com", "http://localhost:3000"]);
    expect(Object.isFrozen(config.corsAllowedOrigins)).toBe(true);
  });

  it.each([
    ["SESSION_IDLE_TIMEOUT_MINUTES", "0"],
    ["SESSION_IDLE_TIMEOUT_MINUTES", "half an hour"],
    ["SESSION_ABSOLUTE_TIMEOUT_HOURS", "721"],
    ["CORS_ALLOWED_ORIGINS", "https://app.example.com/path"],
    ["CORS_ALLOWED_ORIGINS", "app.example.com"],
    ["CORS_ALLOWED_ORIGINS", "ftp://app.example.com"],
    ["CORS_ALLOWED_ORIGINS", "https://app.example.com,*"],
  ])("refuses %s=%s", (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(variable));
  });
});
