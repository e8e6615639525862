import { growingPercentFor, limitHeapGrowth } from "../../src/heap-growth";

const MB = 1024 * 1024;

describe("the resident directory's heap growth limit", () => {
  it("leaves a heap growing percent chosen on the node command line as it is", () => {
    expect(limitHeapGrowth(["--heap-growing-percent=50"])).toBeUndefined();
    expect(limitHeapGrowth(["--require", "x.js", "--heap_growing_percent=0"])).toBeUndefined();
  });

  it("sets its own otherwise, and follows the full collections until stopped", () => {
    for (const execArgv of [["--max-semi-space-size=2"], []]) {
      const stop = limitHeapGrowth(execArgv);
      expect(typeof stop).toBe("function");
      stop!();
    }
  });

  it("leaves 20 % of a large live heap, and at least 32 MB of headroom below that", () => {
    // 100,000 resident users: about 180 MB live, collected again at 1.2 ×.
    expect(growingPercentFor(180 * MB)).toBe(20);
    expect(growingPercentFor(160 * MB)).toBe(20);
    // 20,000 users: about 65 MB live, collected again 32 MB later, not 13 MB later.
    expect(growingPercentFor(64 * MB)).toBe(50);
    expect(growingPercentFor(40 * MB)).toBe(80);
    // Never past V8's own largest factor (4).
    expect(growingPercentFor(4 * MB)).toBe(300);
    expect(growingPercentFor(0)).toBe(300);
  });
});
