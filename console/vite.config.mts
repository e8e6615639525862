import { defineConfig } from "vite";

/**
 * The console is built into console/dist, which Gatehouse serves at `/` (src/http/console-pages.ts).
 * JSX is compiled by Vite's own transform (tsconfig `jsx: react-jsx`); no inline script or style
 * ends up in index.html, so the pages' Content-Security-Policy allows scripts from 'self' only.
 * `npm run console:dev` proxies the API to a Gatehouse on :8080.
 */
export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: true,
    rollupOptions: {
      // react-router's "use client" directive means nothing in a single-page build.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
    },
  },
  server: { proxy: { "/api": "http://localhost:8080", "/auth": "http://localhost:8080", "/scim": "http://localhost:8080" } },
});
