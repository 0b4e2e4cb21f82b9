import { mount } from 'svelte';
import App from './App.svelte';
import './styles/app.css';

const target = document.getElementById('app');
if (target === null) throw new Error('The page has no #app element to mount Lodge into.');
mount(App, { target });
