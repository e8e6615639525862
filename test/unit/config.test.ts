import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { ConfigError, loadConfig } from "../../src/config";
import { makeSigningKey } from "../support/saml-idp";

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

describe("the service provider's SAML signing key (SAML_SP_KEY_FILE, SAML_SP_CERT_FILE)", () => {
  let dir: string;
  const files: Record<string, string> = {};
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "gatehouse-config-"));
    const pair = makeSigningKey("gatehouse-sp");
    const other = makeSigningKey("someone-else");
    const write = (name: string, content: string) => {
      files[name] = path.join(dir, name);
      writeFileSync(files[name]!, content);
    };
    write("sp.key", pair.privateKey);
    write("sp.crt", pair.certificate);
    write("other.crt", other.certificate);
    write("ec.key", generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" }).toString());
    write("garbage.pem", "not a pem file");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems.join("\n");
      throw error;
    }
    return "";
  };

  it("is optional", () => {
    expect(loadConfig({}).samlServiceProvider).toBeUndefined();
  });

  it("reads a matching key and certificate; the key never shows in the printed or serialised configuration", () => {
    const config = loadConfig({ SAML_SP_KEY_FILE: files["sp.key"]!, SAML_SP_CERT_FILE: files["sp.crt"]! });
    expect(config.samlServiceProvider?.certificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(config.samlServiceProvider?.privateKey.type).toBe("private");
    const keyLine = readFileSync(files["sp.key"]!, "utf8").split("\n")[1]!;
    expect(JSON.stringify(config)).not.toContain(keyLine);
    expect(inspect(config, { depth: 10 })).not.toContain(keyLine);
  });

  it.each([
    ["the key without the certificate", () => ({ SAML_SP_KEY_FILE: files["sp.key"]! }), /SAML_SP_CERT_FILE: must be set together with SAML_SP_KEY_FILE/],
    ["the certificate without the key", () => ({ SAML_SP_CERT_FILE: files["sp.crt"]! }), /SAML_SP_KEY_FILE: must be set together with SAML_SP_CERT_FILE/],
    ["a file that does not exist", () => ({ SAML_SP_KEY_FILE: path.join(dir, "missing.key"), SAML_SP_CERT_FILE: files["sp.crt"]! }), /SAML_SP_KEY_FILE: cannot read .*missing\.key \(ENOENT\)/],
    ["a key that is not one", () => ({ SAML_SP_KEY_FILE: files["garbage.pem"]!, SAML_SP_CERT_FILE: files["sp.crt"]! }), /SAML_SP_KEY_FILE: must be an unencrypted PEM private key/],
    ["a certificate that is not one", () => ({ SAML_SP_KEY_FILE: files["sp.key"]!, SAML_SP_CERT_FILE: files["garbage.pem"]! }), /SAML_SP_CERT_FILE: must be a PEM X.509 certificate/],
    ["another key's certificate", () => ({ SAML_SP_KEY_FILE: files["sp.key"]!, SAML_SP_CERT_FILE: files["other.crt"]! }), /SAML_SP_CERT_FILE: is not the certificate of the key/],
    ["an EC key (logout messages are signed rsa-sha256)", () => ({ SAML_SP_KEY_FILE: files["ec.key"]!, SAML_SP_CERT_FILE: files["sp.crt"]! }), /SAML_SP_KEY_FILE: must be an RSA key/],
  ])("refuses %s", (_what, env, problem) => {
    expect(problemsOf(env())).toMatch(problem);
  });

  it("lists its problems with every other bad variable", () => {
    const problems = problemsOf({ PORT: "eighty", SAML_SP_KEY_FILE: files["sp.key"]! });
    expect(problems).toContain("PORT");
    expect(problems).toContain("SAML_SP_KEY_FILE");
  });
});
