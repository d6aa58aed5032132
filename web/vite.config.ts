import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The local server (infra/local) serves dist/ at / beside /api, so the console and the API share
// one origin and need no CORS.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    reportCompressedSize: true,
    // The API reference's Swagger UI is one lazily loaded chunk of ~1.6 MB (~460 KB gzipped); the
    // initial JavaScript's budget is checked by scripts/bundle-size.js.
    chunkSizeWarningLimit: 1700,
  },
});
