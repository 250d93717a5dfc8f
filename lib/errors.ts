/** An error whose message is the whole story for the person at the terminal: printed as one line, no stack. */
export class UserFacingError extends Error {}
