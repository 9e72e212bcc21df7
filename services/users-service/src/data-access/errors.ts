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

/** A compare-and-set kept losing to writers elsewhere for `ms`: the database is up but the document will not hold still. */
export class WriteContention extends Error {
  constructor(readonly ms: number) {
    super(`the document kept changing for ${ms} ms`);
    this.name = 'WriteContention';
  }
}
