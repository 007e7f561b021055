-- Access packages: the file handed to the data subject once access is done (reference 004_*:
-- a file that is prepared, downloadable until it expires, downloaded, then deleted).

create table access_package (
  privacy_request_id text primary key references privacy_request (id) on delete cascade,
  status text not null check (status in ('preparing', 'available', 'downloaded', 'expired', 'deleted', 'failed')),
  -- Where the file is: the storage's location (file:///dir/ or s3://bucket/prefix/) and the key in it.
  -- Recorded per package, so a package written before a configuration change can still be deleted.
  storage_location text not null,
  object_key text not null,
  size_bytes bigint,
  sha256 text,
  -- Per collection (`dataset:collection`), how many rows the package holds.
  collections jsonb,
  -- Why preparing it failed (status failed).
  error text,
  created_at timestamptz not null default now(),
  available_at timestamptz,
  expires_at timestamptz,
  -- The most recent download; every download is in access_package_download.
  downloaded_at timestamptz,
  deleted_at timestamptz,
  failed_at timestamptz,
  updated_at timestamptz not null default now()
);
create index access_package_expires_at on access_package (expires_at) where status in ('available', 'downloaded');

-- Every download of a package: when, and by which client.
create table access_package_download (
  id bigserial primary key,
  privacy_request_id text not null references access_package (privacy_request_id) on delete cascade,
  downloaded_at timestamptz not null default now(),
  ip_address text,
  user_agent text
);
create index access_package_download_request on access_package_download (privacy_request_id, id);
