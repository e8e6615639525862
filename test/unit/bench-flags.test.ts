import { parseBenchFlags } from "../../bench/flags";

// The benchmark's command line (bench/flags.ts): what `npm run bench -- …` accepts and refuses.
// Only the parsing is tested here; npm test never runs the benchmark itself.
describe("benchmark flags", () => {
  it("defaults to a quick run of 2,000 users without a peer", () => {
    expect(parseBenchFlags([])).toEqual({
      users: 2000,
      sizes: [2000],
      peerMaxUsers: 20000,
      auditEvents: 0,
      seedUsers: 0,
      members: 1000,
      concurrency: 16,
      samples: 200,
      rounds: 4,
      mongodbUri: undefined,
      gatehouseNodeArgs: [],
      peer: false,
      mappingGroup: 0,
      trace: undefined,
      help: false,
    });
  });

  it("takes the size of the group whose mapping change is measured", () => {
    expect(parseBenchFlags(["--mapping-group", "5000"])).toMatchObject({ mappingGroup: 5000, peer: false });
    expect(() => parseBenchFlags(["--mapping-group=-5"])).toThrow("--mapping-group must be an integer from 0 to 10000000");
  });

  it("takes sizes, the peer comparison and Gatehouse's node flags from the command line", () => {
    const flags = parseBenchFlags(["--users", "20000", "--concurrency", "8", "--peer", "--rounds", "6", "--gatehouse-node-args=--cpu-prof  --cpu-prof-dir=/tmp/p"]);
    expect(flags).toMatchObject({ users: 20000, concurrency: 8, peer: true, rounds: 6, gatehouseNodeArgs: ["--cpu-prof", "--cpu-prof-dir=/tmp/p"] });
  });

  it("takes a directory to trace the run's requests and the server's output into", () => {
    expect(parseBenchFlags(["--peer", "--trace", "/tmp/trace"])).toMatchObject({ peer: true, trace: "/tmp/trace" });
  });

  it("takes a number of users to seed before the server starts", () => {
    expect(parseBenchFlags(["--peer", "--users", "2000", "--seed-users", "98000"])).toMatchObject({ users: 2000, seedUsers: 98000 });
    expect(() => parseBenchFlags(["--seed-users", "lots"])).toThrow("--seed-users must be an integer from 0 to 10000000");
  });

  it("takes several sizes for one peer run, in ascending order, the largest as --users", () => {
    const flags = parseBenchFlags(["--peer", "--users", "20000,2000,100000,2000", "--peer-max-users", "20000", "--audit-events", "100000"]);
    expect(flags).toMatchObject({ users: 100000, sizes: [2000, 20000, 100000], peerMaxUsers: 20000, auditEvents: 100000 });
  });

  it.each([
    [["--users", "many"], "--users must be an integer from 1 to 10000000"],
    [["--users", "0"], "--users must be an integer from 1 to 10000000"],
    [["--concurrency", "64"], "--concurrency must be an integer from 1 to 32"],
    [["--samples", "1.5"], "--samples must be an integer"],
    [["--users", "2000,"], "--users must be an integer from 1 to 10000000"],
    [["--audit-events=-1"], "--audit-events must be an integer from 0 to 10000000"],
  ])("refuses %j", (args, message) => {
    expect(() => parseBenchFlags(args)).toThrow(message);
  });

  it("refuses a flag it does not know, rather than running a different benchmark", () => {
    expect(() => parseBenchFlags(["--user", "2000"])).toThrow(/Unknown option '--user'/);
  });
});
