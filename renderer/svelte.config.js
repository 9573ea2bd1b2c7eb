// Read by the Vite plugin and by svelte-check.
export default {
  compilerOptions: { runes: true },
};
