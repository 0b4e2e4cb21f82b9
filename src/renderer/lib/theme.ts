/** The user's theme choice; "system" follows the operating system. */
export type Theme = 'system' | 'light' | 'dark';

const KEY = 'lodge.theme';

/** The stored choice. */
export function storedTheme(): Theme {
  const value = localStorage.getItem(KEY);
  return value === 'light' || value === 'dark' ? value : 'system';
}

/** Applies and stores a choice (the stylesheet reads `data-theme` on the root element). */
export function applyTheme(theme: Theme): void {
  if (theme === 'system') {
    delete document.documentElement.dataset.theme;
    localStorage.removeItem(KEY);
  } else {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem(KEY, theme);
  }
}
