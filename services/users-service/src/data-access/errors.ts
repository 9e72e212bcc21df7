/**
 * What the data-access room reports in the domain's terms, never a driver's: the domain catches
 * these, not MongoDB error codes (which FerretDB words differently).
 */

/** A write broke a unique rule: `field` is taken (a username, an email, a group name). The domain decides what that means. */
export class UniqueViolation extends Error {
  constructor(readonly field: 'username' | 'email' | 'name') {
    super(`${field} already taken`);
    this.name = 'UniqueViolation';
  }
}
