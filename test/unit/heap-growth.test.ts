import { limitHeapGrowth } from "../../src/heap-growth";

describe("the resident directory's heap growth limit", () => {
  it("leaves a heap growing percent chosen on the node command line as it is", () => {
    expect(limitHeapGrowth(["--heap-growing-percent=50"])).toBe(false);
    expect(limitHeapGrowth(["--require", "x.js", "--heap_growing_percent=0"])).toBe(false);
  });

  it("sets its own otherwise", () => {
    expect(limitHeapGrowth(["--max-semi-space-size=2"])).toBe(true);
    expect(limitHeapGrowth([])).toBe(true);
  });
});
