// Svelte compiler options shared by vite-plugin-svelte, svelte-check and eslint-plugin-svelte.
export default {
  compilerOptions: { runes: true },
};
