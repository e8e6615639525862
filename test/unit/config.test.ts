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
});
