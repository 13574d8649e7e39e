package dev.fulcrum.admin;

import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** A request the API refuses, with the status and the one-line reason the client gets as {@code {"error": ...}}. */
final class ApiError extends RuntimeException {
  final StatusCode status;

  ApiError(StatusCode status, String message) {
    super(message, null, false, false);
    this.status = status;
  }

  static ApiError badRequest(String message) {
    return new ApiError(StatusCodes.BAD_REQUEST, message);
  }

  static ApiError notFound(String message) {
    return new ApiError(StatusCodes.NOT_FOUND, message);
  }
}
