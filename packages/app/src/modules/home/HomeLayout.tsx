import { Fragment, useMemo } from 'react';
import { Content } from '@backstage/core-components';
import { CustomHomepageGrid } from '@backstage/plugin-home';
import type { HomePageLayoutProps } from '@backstage/plugin-home-react/alpha';

/**
 * Columns of the home grid per breakpoint: 12 from `md` up. The grid's default is 10 at `md`
 * (a 960–1280 px wide grid, e.g. a 1440 px window beside the sidebar), where a half-width widget
 * placed at column 6 runs past the edge and is pushed below its neighbour: the widgets of one row
 * end up staggered. Below `md` widgets stack, as the default does.
 */
export const HOME_GRID_COLUMNS = {
  xl: 12,
  lg: 12,
  md: 12,
  sm: 6,
  xs: 4,
  xxs: 2,
};

/**
 * The home page: the installed widgets on the customizable grid, placed as `page:home`'s
 * `defaultConfig` says, with {@link HOME_GRID_COLUMNS}.
 */
export function HomeLayout(props: HomePageLayoutProps) {
  const { widgets, defaultConfig } = props;
  const config = useMemo(
    () =>
      defaultConfig?.map(item => ({
        component: item.component,
        x: item.column,
        y: item.row,
        width: item.width,
        height: item.height,
        movable: item.movable,
        deletable: item.deletable,
        resizable: item.resizable,
      })),
    [defaultConfig],
  );
  return (
    <Content>
      <CustomHomepageGrid config={config} cols={HOME_GRID_COLUMNS}>
        {widgets.map((widget, index) => (
          <Fragment key={widget.name ?? index}>{widget.component}</Fragment>
        ))}
      </CustomHomepageGrid>
    </Content>
  );
}
