/** SQL for `app_user`: people who sign in, their roles, password hashes and lockout state. */
import type { Sql, TransactionSql } from './client.js';

export interface UserRow {
  username: string;
  password_hash: string;
  roles: string[];
  disabled: boolean;
  failed_logins: number;
  locked_until: Date | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  password_changed_at: Date;
}

export type UserSummary = Omit<UserRow, 'password_hash'>;

const summary = ['username', 'roles', 'disabled', 'failed_logins', 'locked_until', 'created_by', 'created_at', 'updated_at', 'password_changed_at'] as const;

export async function insertUser(
  sql: Sql | TransactionSql,
  user: { username: string; passwordHash: string; roles: string[]; createdBy: string | null },
): Promise<UserSummary | undefined> {
  const [row] = await sql<UserSummary[]>`
    insert into app_user (username, password_hash, roles, created_by)
    values (${user.username}, ${user.passwordHash}, ${sql.array(user.roles)}::text[], ${user.createdBy})
    on conflict (username) do nothing
    returning ${sql(summary)}`;
  return row;
}

export async function findUser(sql: Sql | TransactionSql, username: string, options: { forUpdate?: boolean } = {}): Promise<UserRow | undefined> {
  const [row] = options.forUpdate
    ? await sql<UserRow[]>`select * from app_user where username = ${username} for update`
    : await sql<UserRow[]>`select * from app_user where username = ${username}`;
  return row;
}

export async function listUserPage(sql: Sql, page: number, size: number): Promise<{ items: UserSummary[]; total: number }> {
  const items = await sql<UserSummary[]>`select ${sql(summary)} from app_user order by username limit ${size} offset ${(page - 1) * size}`;
  const [count] = await sql<{ total: number }[]>`select count(*)::int as total from app_user`;
  return { items, total: count!.total };
}

export async function updateUser(
  sql: Sql | TransactionSql,
  username: string,
  change: { roles?: string[] | undefined; passwordHash?: string | undefined; disabled?: boolean | undefined },
): Promise<UserSummary | undefined> {
  const [row] = await sql<UserSummary[]>`
    update app_user set
      roles = coalesce(${change.roles ? sql.array(change.roles) : null}::text[], roles),
      disabled = coalesce(${change.disabled ?? null}::boolean, disabled),
      password_hash = coalesce(${change.passwordHash ?? null}, password_hash),
      password_changed_at = case when ${change.passwordHash ?? null}::text is null then password_changed_at else now() end,
      -- A new password also lifts a lockout.
      failed_logins = case when ${change.passwordHash ?? null}::text is null then failed_logins else 0 end,
      locked_until = case when ${change.passwordHash ?? null}::text is null then locked_until else null end,
      updated_at = now()
    where username = ${username}
    returning ${sql(summary)}`;
  return row;
}

/** Counts a failed login; at `threshold` consecutive failures the account is locked until `lockUntil`. */
export async function recordFailedLogin(sql: Sql | TransactionSql, username: string, threshold: number, lockUntil: Date): Promise<void> {
  await sql`
    update app_user set
      failed_logins = failed_logins + 1,
      locked_until = case when failed_logins + 1 >= ${threshold} then ${lockUntil} else locked_until end
    where username = ${username}`;
}

export async function recordSuccessfulLogin(sql: Sql | TransactionSql, username: string): Promise<void> {
  await sql`update app_user set failed_logins = 0, locked_until = null where username = ${username} and (failed_logins <> 0 or locked_until is not null)`;
}

/** Deletes the user; their tokens go with them (on delete cascade). */
export async function deleteUser(sql: Sql | TransactionSql, username: string): Promise<boolean> {
  return (await sql`delete from app_user where username = ${username} returning username`).length === 1;
}
