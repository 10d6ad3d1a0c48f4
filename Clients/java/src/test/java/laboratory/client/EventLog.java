package laboratory.client;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** Collects chat events and what resuming found, for a test to wait on. */
final class EventLog implements Chat.Listener {
    final List<ChatEvent> events = Collections.synchronizedList(new ArrayList<>());
    final List<String> notes = Collections.synchronizedList(new ArrayList<>());

    @Override
    public synchronized void onEvent(ChatEvent event) {
        events.add(event);
        notifyAll();
    }

    @Override
    public synchronized void onMissed(String room, long from, long to) {
        notes.add("missed " + room + " " + from + "-" + to);
        notifyAll();
    }

    @Override
    public synchronized void onNumberingRestarted(String room) {
        notes.add("restarted " + room);
        notifyAll();
    }

    /** The first event matching, waiting up to 10 s. */
    synchronized ChatEvent await(Predicate<ChatEvent> wanted, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            synchronized (events) {
                for (ChatEvent event : events) {
                    if (wanted.test(event)) {
                        return event;
                    }
                }
            }
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                throw new AssertionError("no event: " + what + "; got " + events);
            }
            wait(left);
        }
    }
}
