import { mount } from 'svelte';
import App from './App.svelte';
import { applyTheme, storedTheme } from './lib/theme';
import './styles/app.css';

applyTheme(storedTheme());

const target = document.getElementById('app');
if (target === null) throw new Error('The page has no #app element to mount Lodge into.');
mount(App, { target });
