import { mount } from 'svelte';
import './styles.css';
import App from './App.svelte';
import { lab } from './lib/lab.svelte.js';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');
mount(App, { target });
void lab.init();
