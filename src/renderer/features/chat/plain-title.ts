/** The longest title a conversation gets from its first question. */
export const TITLE_LENGTH = 60;

/**
 * A conversation title from a message written in markdown: the words a reader sees, without the
 * markup (emphasis, headings, links, code fences, HTML tags), on one line, at most
 * {@link TITLE_LENGTH} characters. Empty when nothing readable is left.
 */
export function plainTitle(markdown: string): string {
  const text = markdown
    .replace(/^```[^\n]*$/gm, ' ')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]*>/g, ' ')
    .replace(/^\s{0,3}(#{1,6}|>+|[-*+]|\d+[.)])\s+/gm, '')
    .replace(/(\*\*|~~)(.+?)\1/g, '$2')
    .replace(/(?<!\w)__(.+?)__(?!\w)/g, '$1')
    .replace(/`([^`]+)`/g, '$1')
    .replace(/\*(?=\S)(.+?)(?<=\S)\*/g, '$1')
    .replace(/(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length <= TITLE_LENGTH ? text : `${text.slice(0, TITLE_LENGTH - 1).trimEnd()}…`;
}
