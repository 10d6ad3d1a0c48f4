// Display names (PROTOCOL.md §11), checked before sending so the user gets a clear message (the
// server's verdict is the one that counts; this browser's Unicode tables may differ from the
// server's), and chat text made safe to show (§16: control and bidirectional formatting
// characters are shown as escapes, never obeyed).

export const MAX_NAME_CHARACTERS = 32;
export const MAX_NAME_BYTES = 1024;

const forbidden = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}]/u;
const whiteSpace = /^\p{White_Space}/u;

function graphemes(text) {
  if (typeof Intl !== "undefined" && Intl.Segmenter) {
    return Array.from(new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text), (s) => s.segment);
  }
  return Array.from(text);
}

/** Why `name` would be refused, or null if it looks acceptable. */
export function displayNameProblem(name) {
  if (name.length === 0) return "display name is empty";
  if (new TextEncoder().encode(name).length > MAX_NAME_BYTES) return `display name is longer than ${MAX_NAME_BYTES} bytes of UTF-8`;
  const bad = name.match(forbidden);
  if (bad) {
    const code = bad[0].codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
    return `display name contains a control, format or unassigned character (U+${code})`;
  }
  const characters = graphemes(name);
  if (characters.length > MAX_NAME_CHARACTERS) return `display name is longer than ${MAX_NAME_CHARACTERS} characters`;
  if (whiteSpace.test(characters[0]) || whiteSpace.test(characters[characters.length - 1])) {
    return "display name starts or ends with whitespace";
  }
  return null;
}

const unsafe = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}]/gu;

/** Text from others as it is safe to show: controls, format characters (bidirectional overrides,
 * zero-width characters), separators and private-use code points become visible `\u{…}`
 * escapes. Tab stays a space, so pasted text still reads. */
export function displayText(text) {
  return text.replace(unsafe, (c) => (c === "\t" ? " " : `\\u{${c.codePointAt(0).toString(16).toUpperCase()}}`));
}
