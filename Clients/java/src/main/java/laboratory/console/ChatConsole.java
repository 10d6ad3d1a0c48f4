package laboratory.console;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import laboratory.client.Chat;
import laboratory.client.ChatEvent;
import laboratory.client.ChatReply;
import laboratory.client.CloseReason;
import laboratory.client.ConnectOptions;
import laboratory.client.LaboratoryException;
import laboratory.client.RequestException;
import laboratory.client.Session;
import laboratory.client.SessionListener;

/**
 * {@code connect HOST:PORT}: a line-by-line chat. A line is said in the current room (the last one
 * joined), or sent to the echo service when in none; slash commands as the Swift terminal client's.
 * At the end of input the client says {@code bye}.
 */
final class ChatConsole {
    private ChatConsole() {}

    static final String HELP = String.join("\n",
            "/join ROOM  /leave [ROOM]  /rooms [AFTER]  /who [ROOM]  /msg ID TEXT  /rename NAME",
            "/rekey  /ping  /server-name  /help  /quit; other lines are said in the current room (echoed when in none)");

    static int run(Arguments arguments, BufferedReader input) throws Exception {
        Chat chat = new Chat(new Chat.Listener() {
            @Override
            public void onEvent(ChatEvent event) {
                Main.OUT.println(describe(event));
            }

            @Override
            public void onMissed(String room, long from, long to) {
                Main.OUT.println("* " + room + ": events " + from + " to " + to + " are lost (no longer held)");
            }

            @Override
            public void onNumberingRestarted(String room) {
                Main.OUT.println("* " + room + ": the server restarted; its history starts anew");
            }
        });
        SessionListener others = new SessionListener() {
            @Override
            public void onServerStopping(long graceMillis) {
                Main.OUT.println("* the server is stopping; this session ends in " + CloseReason.spokenDuration(graceMillis));
            }

            @Override
            public void onClosed(LaboratoryException reason) {
                CloseReason close = reason.closeReason();
                if (close != null && close.code != CloseReason.NORMAL) {
                    Main.ERR.println("laboratory-java: " + ConsoleText.neutralized(close.toString()));
                }
            }
        };
        ConnectOptions options = Main.options(arguments).listener(chat.sessionListener(others)).nameRetry((reason, left) -> {
            Main.ERR.println("laboratory-java: the server rejected the name: " + ConsoleText.neutralized(reason)
                    + " (" + left + " more " + (left == 1 ? "try" : "tries") + ")");
            if (System.console() == null) {
                return null;
            }
            String next = System.console().readLine("Another name: ");
            return next == null || next.isEmpty() ? null : next;
        });
        Session session = Session.connect(options);
        chat.attach(session);
        Main.OUT.println("* connected to " + ConsoleText.neutralized(session.acceptance().serverName) + " as connection "
                + session.acceptance().connectionId + " (" + session.fingerprint() + ")");
        String room = null;
        String line;
        while ((line = input.readLine()) != null) {
            if (line.trim().isEmpty()) {
                continue;
            }
            try {
                if (!line.startsWith("/") || line.startsWith("//")) {
                    String text = line.startsWith("//") ? line.substring(1) : line;
                    if (room == null) {
                        byte[] reply = session.request("echo", text.getBytes(StandardCharsets.UTF_8));
                        Main.OUT.println(ConsoleText.neutralized(new String(reply, StandardCharsets.UTF_8)));
                    } else {
                        chat.say(room, text);
                    }
                    continue;
                }
                String[] words = line.substring(1).trim().split(" +", 2);
                String argument = words.length > 1 ? words[1].trim() : null;
                switch (words[0]) {
                    case "join" -> {
                        ChatReply reply = chat.join(required(argument, "/join ROOM"));
                        room = argument;
                        Main.OUT.println("* joined " + room + " (" + reply.members.size() + " members listed)");
                    }
                    case "leave" -> {
                        String leaving = argument != null ? argument : required(room, "/leave ROOM");
                        chat.leave(leaving);
                        if (leaving.equals(room)) {
                            room = null;
                        }
                    }
                    case "rooms" -> {
                        ChatReply reply = chat.rooms(argument, null);
                        for (ChatReply.Room each : reply.rooms) {
                            Main.OUT.println("  " + each.name + " (" + each.members + ")");
                        }
                        if (reply.next != null) {
                            Main.OUT.println("  more: /rooms " + reply.next);
                        }
                    }
                    case "who" -> {
                        ChatReply reply = chat.who(argument != null ? argument : required(room, "/who ROOM"), null, null);
                        for (ChatReply.Member member : reply.members) {
                            Main.OUT.println("  #" + member.id + " " + ConsoleText.neutralized(member.name));
                        }
                    }
                    case "msg" -> {
                        String[] parts = required(argument, "/msg ID TEXT").split(" ", 2);
                        if (parts.length != 2) {
                            throw new IllegalArgumentException("usage: /msg ID TEXT");
                        }
                        chat.direct(Long.parseLong(parts[0].startsWith("#") ? parts[0].substring(1) : parts[0]), parts[1]);
                    }
                    case "rename" -> {
                        session.rename(required(argument, "/rename NAME"));
                        Main.OUT.println("* you are now " + ConsoleText.neutralized(argument));
                    }
                    case "rekey" -> {
                        session.updateKeys(true);
                        Main.OUT.println("* keys renewed");
                    }
                    case "ping" -> Main.OUT.println(String.format("* round trip %.2f ms", session.ping() / 1e6));
                    case "server-name" -> Main.OUT.println("* " + ConsoleText.neutralized(session.serverName()));
                    case "help" -> Main.OUT.println(HELP);
                    case "quit", "exit" -> {
                        return bye(session);
                    }
                    default -> Main.OUT.println("unknown command; " + HELP);
                }
            } catch (RequestException error) {
                Main.OUT.println("! " + ConsoleText.neutralized(error.errorMessage)
                        + (error.retryMillis > 0 ? " (retry in " + error.retryMillis + " ms)" : ""));
            } catch (IllegalArgumentException error) {
                Main.OUT.println("! " + error.getMessage());
            } catch (LaboratoryException error) {
                if (session.isClosed()) {
                    throw error;
                }
                Main.OUT.println("! " + ConsoleText.neutralized(error.getMessage()));
            }
        }
        return bye(session);
    }

    private static int bye(Session session) throws IOException {
        CloseReason reason = session.bye();
        return reason == null || reason.code == CloseReason.NORMAL ? 0 : 69;
    }

    private static String required(String value, String usage) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("usage: " + usage);
        }
        return value;
    }

    static String describe(ChatEvent event) {
        String who = ConsoleText.neutralized(event.name) + " (#" + event.from + ")";
        String where = event.room == null ? "[direct]" : "[" + event.room + "#" + event.sequence + "]";
        return where + " " + switch (event.kind) {
            case "message", "direct" -> who + ": " + ConsoleText.neutralized(event.text == null ? "" : event.text);
            case "joined" -> who + " joined";
            case "left" -> who + " left";
            case "renamed" -> ConsoleText.neutralized(event.oldName == null ? "?" : event.oldName) + " is now " + who;
            default -> who + " " + ConsoleText.neutralized(event.kind);
        };
    }
}
