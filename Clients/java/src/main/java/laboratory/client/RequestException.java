package laboratory.client;

/**
 * A request or rename answered with a status other than 0 (PROTOCOL.md §14): the status, the
 * server's message, and for a rate-limited request (status 4 with a 4-byte body) how long to wait.
 */
public final class RequestException extends LaboratoryException {
    private static final long serialVersionUID = 1L;

    /** The response's status (1 unknown service, 2 service error, 3 internal error, 4 rejected, or other). */
    public final int status;
    /** The server's {@code error_message}. */
    public final String errorMessage;
    /** For a rate-limited request, the server's {@code retry_ms}; otherwise -1. */
    public final long retryMillis;

    /** A failed response. */
    public RequestException(int status, String errorMessage, long retryMillis) {
        super(Kind.REQUEST_FAILED, "request failed with status " + status + ": " + errorMessage);
        this.status = status;
        this.errorMessage = errorMessage;
        this.retryMillis = retryMillis;
    }
}
