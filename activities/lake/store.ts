// Where a lake's files go: a local folder, or an S3-compatible bucket. Files are written whole and
// appear at once (a folder: a temporary name renamed into place; S3: an object exists only when its
// upload completes), so a reader or a resumed export never sees half a file.
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { LakeDestination } from '../../lib/lake';

export interface LakeStore {
  /** Copies a local file to `key`. */
  putFile(localPath: string, key: string): Promise<void>;
  putText(key: string, text: string): Promise<void>;
  /** The text at `key`, or undefined when there is none. */
  getText(key: string): Promise<string | undefined>;
  /** Copies `key` to a local file; false when there is none. */
  getFile(key: string, localPath: string): Promise<boolean>;
  /** Keys under a prefix (recursively). */
  list(prefix: string): Promise<string[]>;
  /** Where it is, for messages (never credentials). */
  readonly where: string;
}

export function openLakeStore(d: LakeDestination, env: NodeJS.ProcessEnv = process.env): LakeStore {
  return d.scheme === 'file' ? new FolderStore(d.root) : new S3Store(d.root, d.prefix, env);
}

class FolderStore implements LakeStore {
  constructor(private readonly root: string) {}

  get where(): string {
    return `folder ${this.root}`;
  }

  private path(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  private async atomically(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const to = this.path(key);
    await mkdir(dirname(to), { recursive: true });
    const tmp = `${to}.${process.pid}.${Date.now()}.tmp`;
    try {
      await write(tmp);
      await rename(tmp, to);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async putFile(localPath: string, key: string): Promise<void> {
    await this.atomically(key, (tmp) => copyFile(localPath, tmp));
  }

  async putText(key: string, text: string): Promise<void> {
    await this.atomically(key, (tmp) => writeFile(tmp, text));
  }

  async getText(key: string): Promise<string | undefined> {
    return readFile(this.path(key), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
  }

  async getFile(key: string, localPath: string): Promise<boolean> {
    try {
      await copyFile(this.path(key), localPath);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const entries = await readdir(this.path(prefix), { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    const base = this.path(prefix);
    return entries
      .filter((e) => e.isFile() && !e.name.endsWith('.tmp'))
      .map((e) => `${prefix.replace(/\/?$/, '/')}${join(e.parentPath ?? (e as { path?: string }).path ?? base, e.name).slice(base.length + 1).split('/').join('/')}`); // parentPath from Node 20.12
  }
}

/** The S3 settings of this worker: endpoint and keys come from its environment, never from a workflow. */
export function s3ClientFromEnv(env: NodeJS.ProcessEnv): S3Client {
  // The SDK is pinned (package.json) at a version that supports Node 20: its notice that later
  // versions will not would only fill the worker's log.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const endpoint = env.CM_LAKE_S3_ENDPOINT;
  return new S3Client({
    region: env.CM_LAKE_S3_REGION ?? env.AWS_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: env.CM_LAKE_S3_PATH_STYLE !== 'false' } : {}),
    ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY } }
      : {}),
  });
}

class S3Store implements LakeStore {
  private readonly client: S3Client;

  constructor(private readonly bucket: string, private readonly prefix: string, private readonly env: NodeJS.ProcessEnv) {
    this.client = s3ClientFromEnv(env);
  }

  get where(): string {
    return `s3://${this.bucket}/${this.prefix}${this.env.CM_LAKE_S3_ENDPOINT ? ` at ${new URL(this.env.CM_LAKE_S3_ENDPOINT).host}` : ''}`;
  }

  async putFile(localPath: string, key: string): Promise<void> {
    // Multipart for large files, in bounded parts: memory does not grow with the file.
    await new Upload({ client: this.client, params: { Bucket: this.bucket, Key: this.prefix + key, Body: createReadStream(localPath) }, queueSize: 2, partSize: 16 * 1024 * 1024 }).done();
  }

  async putText(key: string, text: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: text, ContentType: 'application/json' }));
  }

  private async get(key: string): Promise<Readable | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return out.Body as Readable;
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  async getText(key: string): Promise<string | undefined> {
    const body = await this.get(key);
    if (!body) return undefined;
    const parts: Buffer[] = [];
    for await (const part of body) parts.push(Buffer.from(part as Uint8Array));
    return Buffer.concat(parts).toString('utf8');
  }

  async getFile(key: string, localPath: string): Promise<boolean> {
    const body = await this.get(key);
    if (!body) return false;
    await pipeline(body, createWriteStream(localPath));
    return true;
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for (let token: string | undefined, first = true; first || token; first = false) {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key.slice(this.prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    }
    return keys;
  }
}
