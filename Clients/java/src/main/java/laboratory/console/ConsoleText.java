package laboratory.console;

/** Makes text from the server harmless on a terminal (PROTOCOL.md §16: chat text is not filtered). */
final class ConsoleText {
    private ConsoleText() {}

    /** Control, format and bidirectional-override characters become {@code \\u{...}}; the rest is kept. */
    static String neutralized(String text) {
        StringBuilder out = new StringBuilder(text.length());
        text.codePoints().forEach(c -> {
            int type = Character.getType(c);
            boolean unsafe = type == Character.CONTROL || type == Character.FORMAT || type == Character.LINE_SEPARATOR
                    || type == Character.PARAGRAPH_SEPARATOR || type == Character.SURROGATE || type == Character.PRIVATE_USE;
            if (unsafe) {
                out.append(String.format("\\u{%x}", c));
            } else {
                out.appendCodePoint(c);
            }
        });
        return out.toString();
    }
}
