package dev.fulcrum.admin;

import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** A request the API refuses, with the status and the one-line reason the client gets as {@code {"error": ...}}. */
final class ApiError extends RuntimeException {
  final StatusCode status;
  /** For a change: "not-applied" or "unknown"; null for anything else. */
  final String outcome;

  ApiError(StatusCode status, String message) {
    this(status, message, null);
  }

  ApiError(StatusCode status, String message, String outcome) {
    super(message, null, false, false);
    this.status = status;
    this.outcome = outcome;
  }

  static ApiError badRequest(String message) {
    return new ApiError(StatusCodes.BAD_REQUEST, message);
  }

  static ApiError notFound(String message) {
    return new ApiError(StatusCodes.NOT_FOUND, message);
  }
}
