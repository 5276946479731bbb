<?php

namespace ProrataAlign\Admin;

use ProrataAlign\Page\Text;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The page links of a long list: first, previous, a few pages around the current one, next,
 * last, with a gap ("…") where pages are left out; never one link per page (390 pages made
 * 14 rows of links). Rendered by templates/admin/pages.tpl.
 */
final class PageWindow
{
    /** Pages shown on each side of the current one. */
    public const AROUND = 2;

    /**
     * @param callable(int): string $href the link of a page
     * @return list<array{label: string, href: string, active: bool, disabled: bool, rel: string, title: string}>
     */
    public static function links(Text $t, int $current, int $last, callable $href): array
    {
        if ($last <= 1) {
            return [];
        }
        $current = max(1, min($current, $last));
        $link = fn (int $page, string $label, string $rel, string $title) => [
            'label' => $label,
            'href' => $href($page),
            'active' => $rel === '' && $page === $current,
            'disabled' => $rel !== '' && $page === $current,
            'rel' => $rel,
            'title' => $title,
        ];
        $gap = ['label' => '…', 'href' => '', 'active' => false, 'disabled' => true, 'rel' => 'gap', 'title' => ''];
        $links = [
            $link(1, '«', 'first', $t->get('page_first')),
            $link(max(1, $current - 1), '‹', 'prev', $t->get('page_previous')),
        ];
        $from = max(1, $current - self::AROUND);
        $to = min($last, $current + self::AROUND);
        if ($from > 1) {
            $links[] = $link(1, '1', '', $t->get('page_number', 1));
            if ($from > 2) {
                $links[] = $gap;
            }
        }
        for ($page = $from; $page <= $to; $page++) {
            $links[] = $link($page, (string) $page, '', $t->get('page_number', $page));
        }
        if ($to < $last) {
            if ($to < $last - 1) {
                $links[] = $gap;
            }
            $links[] = $link($last, (string) $last, '', $t->get('page_number', $last));
        }
        $links[] = $link(min($last, $current + 1), '›', 'next', $t->get('page_next'));
        $links[] = $link($last, '»', 'last', $t->get('page_last'));

        return $links;
    }
}
