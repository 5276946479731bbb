<?php

namespace ProrataAlign\Admin;

use ProrataAlign\Page\Templates;
use ProrataAlign\Page\Text;
use ProrataAlign\Worker\WorkerClient;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The admin page's footer: the addon's version and the worker's (as the last preview
 * reported it: the version of the code the worker runs), and a warning when they are not the
 * same version. One release carries one version for both halves, so any difference (another
 * release, a development build `X.Y.Z.devN` against a release) means the messages and tables
 * of the two may not match.
 */
final class VersionFooter
{
    private Text $t;
    private string $addon;
    private ?string $worker;

    public function __construct(Text $t, string $addonVersion, ?string $workerVersion)
    {
        $this->t = $t;
        $this->addon = $addonVersion;
        $this->worker = $workerVersion;
    }

    public static function of(Text $t, WorkerClient $worker): self
    {
        return new self($t, (string) (\prorata_align_config()['version'] ?? ''), $worker->lastWorkerVersion());
    }

    /** The warning alert, or '' when the versions are the same or the worker's is not known. */
    public function warning(): string
    {
        if ($this->worker === null || trim($this->worker) === trim($this->addon)) {
            return '';
        }

        return Templates::render('admin/versions', [
            'warning' => true,
            'text' => $this->t->get('versions_differ', $this->addon, $this->worker),
        ]);
    }

    public function html(): string
    {
        $worker = $this->worker === null ? $this->t->get('versions_worker_unknown') : $this->worker;

        return Templates::render('admin/versions', [
            'warning' => false,
            'text' => $this->t->get('versions_footer', $this->addon, $worker),
        ]);
    }
}
